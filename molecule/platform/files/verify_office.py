#!/usr/bin/env python3
"""Office servers end to end (issue 13), run on a frontend by verify-office.yml.

Every request goes through curl with --resolve (the farm's names pinned to chosen hosts), so
each router (nginx on each office host) is addressed on its own. Prints one JSON object with
every outcome; the playbook asserts on it. Input: the JSON of argv[1] (see verify-office.yml).
"""

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

CFG = json.loads(sys.argv[1])
CA = "/etc/nuagerie/tls/ca.crt"
OUT: dict = {}


def jwt(payload, secret):
    """HS256, as a holder of the farm's OnlyOffice secret (any space admin can read it) would sign."""
    enc = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    data = enc(b'{"alg":"HS256","typ":"JWT"}') + "." + enc(json.dumps(payload).encode())
    return data + "." + enc(hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest())


def curl(url, ip, args=(), data=None):
    """(status, body bytes, headers text) of one request to url, its host pinned to ip."""
    host = urllib.parse.urlsplit(url).hostname
    cmd = ["curl", "-sS", "--max-time", "30", "--cacert", CA, "--resolve", f"{host}:443:{ip}",
           "-o", "/dev/stdout", "-D", "/dev/stderr", "-w", "", *args, url]
    if data is not None and "-T" not in args:   # a POST body; -T - uploads stdin itself
        cmd[1:1] = ["--data-binary", "@-"]
    proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
    head = proc.stderr.decode(errors="replace")
    status = 0
    for line in head.splitlines():
        if line.startswith("HTTP/"):
            status = int(line.split()[1])
    return status, proc.stdout, head


def upload(space, name, body):
    """PUT a file as the space's admin; its numeric file id."""
    status, _, head = curl(f"https://{space['domain']}/remote.php/dav/files/admin/{name}", CFG["web_ip"],
                           ["-u", f"admin:{space['password']}", "-T", "-"], data=body)
    assert status in (201, 204), (status, head)
    for line in head.splitlines():
        if line.lower().startswith("oc-fileid:"):
            return int(line.split(":", 1)[1].strip()[:8])
    raise AssertionError(head)


def download(space, name):
    return curl(f"https://{space['domain']}/remote.php/dav/files/admin/{name}", CFG["web_ip"],
                ["-u", f"admin:{space['password']}"])[1]


def wopi_token(space, file_id):
    status, body, _ = curl(f"https://{space['domain']}/index.php/apps/richdocuments/token", CFG["web_ip"],
                           ["-u", f"admin:{space['password']}", "-H", "Content-Type: application/x-www-form-urlencoded"],
                           data=f"fileId={file_id}".encode())
    return status, (json.loads(body) if status == 200 else {})


def cool_open(router_ip, wopi_src, token):
    url = f"https://{CFG['collabora_name']}/browser/standin/cool.html?WOPISrc={urllib.parse.quote(wopi_src, safe='')}"
    status, body, _ = curl(url, router_ip, ["-H", "Content-Type: application/x-www-form-urlencoded"],
                           data=("access_token=" + urllib.parse.quote(token, safe="")).encode())
    try:
        return status, json.loads(body)
    except json.JSONDecodeError:
        return status, {"raw": body.decode(errors="replace")[:200]}


def cool_where(router_ip, wopi_src):
    enc = urllib.parse.quote(wopi_src, safe="")
    status, body, _ = curl(f"https://{CFG['collabora_name']}/cool/{enc}/ws?WOPISrc={enc}", router_ip)
    return json.loads(body) if status == 200 else {"status": status}


def collabora():
    space, other = CFG["collabora_space"], CFG["onlyoffice_space"]
    routers = CFG["collabora_ips"]
    docs = []
    for i in range(CFG["documents"]):
        body = f"office verify {CFG['run']} collabora document {i}\n".encode()
        file_id = upload(space, f"office-{CFG['run']}-{i}.docx", body)
        status, tok = wopi_token(space, file_id)
        assert status == 200, status
        docs.append({"id": file_id, "sha": hashlib.sha256(body).hexdigest(), **tok})
    first = docs[0]
    status, opened = cool_open(routers[0], first["wopiSrc"], first["token"])
    OUT["collabora_open"] = {"status": status, "same_bytes": opened.get("sha256") == first["sha"], "doc": opened}
    if space.get("alias"):
        alias_src = first["wopiSrc"].replace(f"//{space['domain']}/", f"//{space['alias']}/")
        status, via_alias = cool_open(routers[-1], alias_src, first["token"])
        OUT["collabora_alias"] = {"status": status, "same_key": via_alias.get("docKey") == opened.get("docKey"),
                                  "same_server": via_alias.get("server") == opened.get("server")}
    status, wrong = cool_open(routers[0], first["wopiSrc"], "x" + first["token"][1:])
    OUT["collabora_wrong_token"] = {"status": status, "wopi_status": wrong.get("status")}
    foreign = first["wopiSrc"].replace(f"//{space['domain']}/", f"//{other['domain']}/")
    status, refused = cool_open(routers[0], foreign, first["token"])
    OUT["collabora_other_suite"] = {"status": status, "error": refused.get("error")}

    # Concurrent opens of every document through every router: one server per document.
    jobs = [(d, ip) for d in docs for ip in routers for _ in range(CFG["opens_per_router"])]
    start = time.monotonic()
    with ThreadPoolExecutor(CFG["concurrency"]) as pool:
        results = list(pool.map(lambda job: (job[0]["id"], cool_open(job[1], job[0]["wopiSrc"], job[0]["token"])), jobs))
    elapsed = time.monotonic() - start
    servers: dict = {}
    for file_id, (status, doc) in results:
        servers.setdefault(file_id, set()).add(doc.get("server") if status == 200 else f"failed {status}")
    sticky = sum(1 for s in servers.values() if len(s) == 1 and not next(iter(s)).startswith("failed"))
    where = [cool_where(ip, d["wopiSrc"]) for d in docs for ip in routers]
    OUT["collabora_routing"] = {"documents": len(docs), "opens": len(jobs), "concurrency": CFG["concurrency"],
                                "seconds": round(elapsed, 2), "opens_per_second": round(len(jobs) / elapsed, 1),
                                "stickiness": sticky / len(docs),
                                "servers_used": sorted({s for v in servers.values() for s in v}),
                                "ws_loaded_everywhere": all(w.get("loaded") for w in where)}


def onlyoffice():
    space, other = CFG["onlyoffice_space"], CFG["collabora_space"]
    routers = CFG["onlyoffice_ips"]
    name = f"office-{CFG['run']}-oo.docx"
    original = f"office verify {CFG['run']} onlyoffice\n".encode()
    file_id = upload(space, name, original)
    status, body, _ = curl(f"https://{space['domain']}/index.php/apps/onlyoffice/ajax/config/{file_id}", CFG["web_ip"],
                           ["-u", f"admin:{space['password']}"])
    assert status == 200, (status, body[:200])
    config = json.loads(body)
    key = config["document"]["key"]
    edit = f"https://{CFG['onlyoffice_name']}/doc/{key}/c/edit"

    command = f"https://{CFG['onlyoffice_name']}/coauthoring/CommandService.ashx"
    inbox = {}
    for label, secret in (("right", CFG["jwt_secret"]), ("wrong", "W" + CFG["jwt_secret"][1:])):
        status, body, _ = curl(command, routers[0], ["-H", "Content-Type: application/json",
                                                     "-H", "Authorization: Bearer " + jwt({"payload": {"c": "version"}}, secret)],
                               data=b'{"c": "version"}')
        inbox[label] = json.loads(body) if status == 200 else {"status": status}
    OUT["onlyoffice_inbox"] = inbox

    forged = dict(config, token=config["token"].rsplit(".", 1)[0] + ".AAAA")
    status, body, _ = curl(edit, routers[0], ["-H", "Content-Type: application/json"],
                           data=json.dumps({"config": forged, "append": "forged"}).encode())
    OUT["onlyoffice_wrong_token"] = {"status": status, "unchanged": download(space, name) == original}

    append = f"saved {CFG['run']}\n"
    status, body, _ = curl(edit, routers[0], ["-H", "Content-Type: application/json"],
                           data=json.dumps({"config": config, "append": append}).encode())
    saved = json.loads(body) if status == 200 else {"raw": body[:300].decode(errors="replace")}
    OUT["onlyoffice_save"] = {"status": status, "callback": saved.get("callback"), "server": saved.get("server"),
                              "file_is_saved": download(space, name) == original + append.encode()}
    # The same document key through the other router lands on the same server.
    status, body, _ = curl(f"https://{CFG['onlyoffice_name']}/cache/files/data/{key}/output.docx", routers[-1])
    OUT["onlyoffice_same_server_result"] = {"status": status, "bytes_match": body == original + append.encode()}

    # Even signed with the farm's secret, a Collabora space's URLs are not in the allow list:
    # the server refuses to fetch them (and nothing reaches that space).
    c_id = upload(other, f"office-{CFG['run']}-c.docx", b"collabora space file\n")
    foreign = {k: v for k, v in json.loads(json.dumps(config).replace(f"//{space['domain']}/", f"//{other['domain']}/")).items()
               if k != "token"}
    foreign["token"] = jwt(foreign, CFG["jwt_secret"])
    status, body, _ = curl(edit, routers[0], ["-H", "Content-Type: application/json"],
                           data=json.dumps({"config": foreign, "append": "x"}).encode())
    OUT["onlyoffice_other_suite_url"] = {"status": status, "body": body[:200].decode(errors="replace"),
                                         "collabora_file_unchanged": download(other, f"office-{CFG['run']}-c.docx")
                                         == b"collabora space file\n"}
    # The onlyoffice app is not enabled in the Collabora space: its editor route does not exist.
    status, _, _ = curl(f"https://{other['domain']}/index.php/apps/onlyoffice/ajax/config/{c_id}", CFG["web_ip"],
                        ["-u", f"admin:{other['password']}"])
    OUT["onlyoffice_app_in_collabora_space"] = {"status": status}


def main():
    if CFG["part"] == "collabora":
        collabora()
    elif CFG["part"] == "onlyoffice":
        onlyoffice()
    elif CFG["part"] == "open_one":
        space = CFG["collabora_space"]
        body = f"office verify {CFG['run']} new space\n".encode()
        file_id = upload(space, f"office-{CFG['run']}-new.docx", body)
        status, tok = wopi_token(space, file_id)
        assert status == 200, status
        OUT["opens"] = []
        for ip in CFG["collabora_ips"]:
            status, doc = cool_open(ip, tok["wopiSrc"], tok["token"])
            OUT["opens"].append({"status": status, "same_bytes": doc.get("sha256") == hashlib.sha256(body).hexdigest(),
                                 "error": doc.get("error")})
    print(json.dumps(OUT, default=list))


if __name__ == "__main__":
    main()
