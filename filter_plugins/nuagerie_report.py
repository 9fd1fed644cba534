"""Nuagerie: the operator's table of spaces (pure function, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def spaces_table(spaces: object, frontends: object, ca_file: str = "") -> list:
    """One line per space: slug, URL, state, office, bucket, database; then how to reach each.

    :param spaces: space records (``docs/space-record.md``).
    :param frontends: ``[{name, address}]`` or ``{name: address}``: web frontends and the address
        the operator's machine reaches them at (the first one is used in the curl hints).
    :param ca_file: the farm CA on the operator's machine ("" = curl ``-k``).
    :returns: lines of text, columns aligned.
    :raises AnsibleFilterError: when the inputs are not lists.
    """
    if isinstance(frontends, Mapping):
        frontends = [{"name": name, "address": address} for name, address in frontends.items()]
    if not isinstance(spaces, (list, tuple)) or not isinstance(frontends, (list, tuple)):
        raise AnsibleFilterError("spaces_table expects a list of spaces and a list of frontends")
    head = ("SPACE", "URL", "STATE", "OFFICE", "BUCKET", "DATABASE")
    rows = [head] + [(s["slug"], f"https://{s['domains'][0]}/", s["state"], s.get("office", ""),
                      s["names"]["bucket"], s["names"]["database"]) for s in spaces]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    if frontends and spaces:
        front = frontends[0]
        if not isinstance(front, Mapping) or not front.get("address"):
            raise AnsibleFilterError(f"spaces_table: frontends need {{name, address}}, got {front!r}")
        trust = f"--cacert {ca_file}" if ca_file else "-k"
        lines.append("")
        lines.append(f"From this machine, through {front['name']} ({front['address']}); "
                     + ", ".join(f"{f['name']} {f['address']}" for f in frontends[1:])
                     + (" answers the same" if len(frontends) > 1 else ""))
        for space in spaces:
            if space["state"] == "absent":
                continue
            domain = space["domains"][0]
            lines.append(f"  curl {trust} --resolve {domain}:443:{front['address']} https://{domain}/status.php")
    return lines


class FilterModule:
    """Report filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {"nuagerie_spaces_table": spaces_table}
