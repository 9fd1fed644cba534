<?php

declare(strict_types=1);

namespace Standin;

/**
 * occ: the command names, arguments, options, output shapes and exit codes of upstream's
 * core/Command/* (Symfony Console underneath), for the commands the farm uses. Which
 * commands exist depends on the state, like upstream's core/register_command.php:
 * not installed → status, list, maintenance:install; installed → everything else.
 * App commands (`when` = "app") exist only while their app is enabled, like upstream's
 * lib/private/Console/Application.php: the classes listed in <commands> of the app's
 * appinfo/info.xml, not in maintenance mode nor while an upgrade is pending.
 */
final class Console {
	private const OUT = ['output' => [null, 'optional', false, 'plain']];
	private const GLOBAL = ['help' => 'h', 'quiet' => 'q', 'verbose' => 'v', 'version' => 'V', 'ansi' => null,
		'no-ansi' => null, 'no-interaction' => 'n', 'no-warnings' => null];

	private array $out = [];
	private bool $quiet = false;
	private int $verbosity = 0;

	/**
	 * Command table: name => [description, arguments [name, required, is_array],
	 * options name => [shortcut, none|required|optional, is_array, default], handler, when,
	 * upstream class (app commands)]. `when`: "always", "installed", "not-installed" or "app".
	 */
	public static function commands(): array {
		return [
			'list' => ['List commands', [['namespace', false, false]], ['format' => [null, 'required', false, 'txt'], 'raw' => [null, 'none', false, false]], 'cmdList', 'always'],
			'status' => ['show some status information', [], self::OUT + ['exit-code' => ['e', 'none', false, false]], 'cmdStatus', 'always'],
			'maintenance:install' => ['install Nextcloud', [], [
				'database' => [null, 'required', false, 'sqlite'],
				'database-name' => [null, 'required', false, null],
				'database-host' => [null, 'required', false, 'localhost'],
				'database-port' => [null, 'required', false, null],
				'database-user' => [null, 'required', false, null],
				'database-pass' => [null, 'optional', false, null],
				'database-table-space' => [null, 'optional', false, null],
				'disable-admin-user' => [null, 'none', false, false],
				'admin-user' => [null, 'required', false, 'admin'],
				'admin-pass' => [null, 'required', false, null],
				'admin-email' => [null, 'optional', false, null],
				'data-dir' => [null, 'required', false, null],
			], 'cmdInstall', 'not-installed'],
			'maintenance:mode' => ['Show or toggle maintenance mode status', [], ['on' => [null, 'none', false, false], 'off' => [null, 'none', false, false], 'check-if-disabled' => [null, 'none', false, false]], 'cmdMaintenanceMode', 'installed'],
			'maintenance:repair' => ['repair this installation (stand-in: nothing to repair)', [], ['include-expensive' => [null, 'none', false, false]], 'cmdNoop', 'installed'],
			'db:add-missing-indices' => ['Add missing indices to the database tables (stand-in: none)', [], ['dry-run' => [null, 'none', false, false]], 'cmdNoop', 'installed'],
			'db:add-missing-columns' => ['Add missing optional columns to the database tables (stand-in: none)', [], ['dry-run' => [null, 'none', false, false]], 'cmdNoop', 'installed'],
			'db:add-missing-primary-keys' => ['Add missing primary keys to the database tables (stand-in: none)', [], ['dry-run' => [null, 'none', false, false]], 'cmdNoop', 'installed'],
			'upgrade' => ['run upgrade routines after installation of a new release. The release has to be installed before.', [], [], 'cmdUpgrade', 'installed'],
			'config:import' => ['Import a list of configs', [['file', false, false]], [], 'cmdConfigImport', 'installed'],
			'config:list' => ['List all configs', [['app', false, false]], ['output' => [null, 'optional', false, 'json_pretty'], 'private' => [null, 'none', false, false]], 'cmdConfigList', 'installed'],
			'config:system:get' => ['Get a system config value', [['name', true, true]], self::OUT + ['default-value' => [null, 'optional', false, null]], 'cmdSystemGet', 'installed'],
			'config:system:set' => ['Set a system config value', [['name', true, true]], ['type' => [null, 'required', false, 'string'], 'value' => [null, 'required', false, null], 'update-only' => [null, 'none', false, false]], 'cmdSystemSet', 'installed'],
			'config:system:delete' => ['Delete a system config value', [['name', true, true]], ['error-if-not-exists' => [null, 'none', false, false]], 'cmdSystemDelete', 'installed'],
			'config:app:get' => ['Get an app config value', [['app', true, false], ['name', true, false]], self::OUT + ['default-value' => [null, 'optional', false, null]], 'cmdAppGet', 'installed'],
			'config:app:set' => ['Set an app config value', [['app', true, false], ['name', true, false]], ['value' => [null, 'required', false, null], 'type' => [null, 'required', false, null], 'lazy' => [null, 'optional', false, null], 'sensitive' => [null, 'optional', false, null], 'update-only' => [null, 'none', false, false]], 'cmdAppSet', 'installed'],
			'config:app:delete' => ['Delete an app config value', [['app', true, false], ['name', true, false]], ['error-if-not-exists' => [null, 'none', false, false]], 'cmdAppDelete', 'installed'],
			'app:list' => ['List all available apps', [], self::OUT + ['shipped' => [null, 'required', false, null], 'enabled' => [null, 'none', false, false], 'disabled' => [null, 'none', false, false]], 'cmdAppList', 'installed'],
			'app:enable' => ['enable an app', [['app-id', true, true]], ['groups' => ['g', 'required', true, []], 'force' => ['f', 'none', false, false]], 'cmdAppEnable', 'installed'],
			'app:disable' => ['disable an app', [['app-id', true, true]], [], 'cmdAppDisable', 'installed'],
			'user:add' => ['adds an account', [['uid', true, false]], ['password-from-env' => [null, 'none', false, false], 'generate-password' => [null, 'none', false, false], 'display-name' => [null, 'optional', false, null], 'email' => [null, 'required', false, null], 'group' => ['g', 'required', true, []]], 'cmdUserAdd', 'installed'],
			'user:list' => ['list configured accounts', [], self::OUT + ['limit' => ['l', 'optional', false, '500'], 'offset' => ['o', 'optional', false, '0'], 'info' => ['i', 'none', false, false], 'disabled' => ['d', 'none', false, false]], 'cmdUserList', 'installed'],
			'background:cron' => ['Use cron to run background jobs', [], [], 'cmdBackgroundMode', 'installed'],
			'background:ajax' => ['Use ajax to run background jobs', [], [], 'cmdBackgroundMode', 'installed'],
			'background:webcron' => ['Use webcron to run background jobs', [], [], 'cmdBackgroundMode', 'installed'],
			// nextcloud/richdocuments lib/Command/ActivateConfig.php (alias richdocuments:setup not provided)
			'richdocuments:activate-config' => ['Activate config changes', [], ['wopi-url' => ['w', 'required', false, null], 'callback-url' => ['c', 'required', false, null]], 'cmdRichdocumentsActivateConfig', 'app', 'OCA\\Richdocuments\\Command\\ActivateConfig'],
			// ONLYOFFICE/onlyoffice-nextcloud lib/Command/DocumentServer.php
			'onlyoffice:documentserver' => ['Manage document server', [], ['check' => [null, 'none', false, false]], 'cmdOnlyofficeDocumentServer', 'app', 'OCA\\Onlyoffice\\Command\\DocumentServer'],
		];
	}

	/** @var array<string, array> the commands registered for this run */
	private array $registered = [];

	/**
	 * The commands registered in the current state. With $apps, also the commands of the
	 * enabled apps (reads appconfig: needs the database, like upstream).
	 */
	public function available(bool $apps = false): array {
		$installed = Server::installed();
		$core = array_filter(self::commands(), fn ($c) => $c[4] === 'always' || ($c[4] !== 'app' && ($c[4] === 'installed') === $installed));
		if (!$apps || !$installed || Server::maintenance() || Server::needUpgrade()) {
			return $core;
		}
		$classes = [];
		$apps = Server::apps();
		foreach (array_keys($this->enabledApps()) as $id) {
			foreach ($apps[$id]['commands'] ?? [] as $class) {
				$classes[ltrim($class, '\\')] = true;
			}
		}
		return $core + array_filter(self::commands(), fn ($c) => $c[4] === 'app' && isset($classes[$c[5]]));
	}

	// ---------------------------------------------------------------- running

	public function run(array $argv): int {
		$tokens = array_slice($argv, 1);
		$name = null;
		$rest = [];
		foreach ($tokens as $i => $t) {
			if ($name === null && $t !== '' && $t[0] !== '-') {
				$name = $t;
				continue;
			}
			$rest[] = $t;
		}
		foreach ($rest as $t) {
			if ($t === '-q' || $t === '--quiet') {
				$this->quiet = true;
			} elseif (preg_match('/^-(v+)$/', $t, $m)) {
				$this->verbosity = strlen($m[1]);
			} elseif ($t === '--verbose') {
				$this->verbosity = 1;
			}
		}
		if (in_array('-V', $rest, true) || in_array('--version', $rest, true)) {
			$this->line('Nextcloud ' . Server::$versionString);
			return $this->flush(0);
		}
		try {
			Server::checkCaches();
			// Upstream lib/base.php initPaths(): every apps_paths entry must be a directory.
			Server::appsRoots();
			$this->stateNotice($name ?? 'list');
			// Upstream Application::loadCommands(): every command but `check` stops here when
			// OC_Util::checkServer() finds errors (e.g. no .ncdata in the data directory).
			if (($errors = Server::checkServer()) && $name !== 'check') {
				foreach ($errors as $error) {
					$this->line($error['error']);
					$this->line($error['hint']);
					$this->line('');
				}
				$this->flush(0);
				// console.php's exceptionHandler()
				echo 'An unhandled exception has been thrown:' . PHP_EOL . 'Exception: Environment not properly prepared. in '
					. __FILE__ . PHP_EOL . 'Stack trace:' . PHP_EOL . '#0 {main}' . PHP_EOL;
				return 1;
			}
			$name ??= 'list';
			$core = $this->available();
			if ($name === 'list') {
				try {
					$commands = $this->available(true);
				} catch (\Throwable $e) {
					// Stand-in difference: without a reachable database `list` shows the core
					// commands (upstream fails to load the apps and stops).
					$commands = $core;
				}
			} else {
				// Only an app command needs the enabled apps (the database); any other name is
				// either core or not defined whatever the apps.
				$isApp = (self::commands()[$name][4] ?? '') === 'app';
				$commands = $isApp ? $this->available(true) : $core;
			}
			$this->registered = $commands;
			if (!isset($commands[$name])) {
				throw new UsageError(sprintf('Command "%s" is not defined.', $name));
			}
			$def = $commands[$name];
			if (in_array('-h', $rest, true) || in_array('--help', $rest, true)) {
				$this->help($name, $def);
				return $this->flush(0);
			}
			[$args, $opts] = self::parse($def, $rest);
			$code = $this->{$def[3]}($args, $opts, $name);
			return $this->flush($code);
		} catch (\Throwable $e) {
			$this->flush(0);
			$msg = $e->getMessage() . ($e instanceof HintException && $e->hint !== '' ? "\n" . $e->hint : '');
			fwrite(STDERR, "\n  " . str_replace("\n", "\n  ", $msg) . "\n\n");
			if (!$e instanceof UsageError && !$e instanceof HintException && !$e instanceof \InvalidArgumentException) {
				Server::log()->error('occ: ' . get_class($e) . ': ' . $e->getMessage());
			}
			return 1;
		}
	}

	private function stateNotice(string $name): void {
		if (!Server::installed()) {
			if (!in_array($name, ['status', 'maintenance:install', 'list'], true)) {
				fwrite(STDERR, "Nextcloud is not installed - only a limited number of commands are available\n");
			}
		} elseif (Server::needUpgrade()) {
			if ($name !== 'upgrade' && $name !== 'status') {
				fwrite(STDERR, "Nextcloud or one of the apps require upgrade - only a limited number of commands are available\n"
					. "You may use your browser or the occ upgrade command to do the upgrade\n");
			}
		} elseif (Server::maintenance() && !in_array($name, ['maintenance:mode', 'status'], true)) {
			fwrite(STDERR, "Nextcloud is in maintenance mode, no apps are loaded.\nCommands provided by apps are unavailable.\n");
		}
	}

	/** Symfony Console's ArgvInput rules for long/short options and arguments. */
	public static function parse(array $def, array $tokens): array {
		[, $argDefs, $optDefs] = $def;
		$shortcuts = [];
		foreach ($optDefs as $n => $o) {
			if ($o[0] !== null) {
				$shortcuts[$o[0]] = $n;
			}
		}
		$opts = [];
		$args = [];
		$onlyArgs = false;
		while ($tokens) {
			$t = array_shift($tokens);
			if ($onlyArgs || $t === '' || $t[0] !== '-' || $t === '-') {
				$args[] = $t;
				continue;
			}
			if ($t === '--') {
				$onlyArgs = true;
				continue;
			}
			if (str_starts_with($t, '--')) {
				$name = substr($t, 2);
				$value = null;
				if (($p = strpos($name, '=')) !== false) {
					$value = substr($name, $p + 1);
					$name = substr($name, 0, $p);
				}
			} else {
				$s = substr($t, 1, 1);
				if (isset(self::GLOBAL_SHORT[$s]) || preg_match('/^-v+$/', $t)) {
					continue;
				}
				if (!isset($shortcuts[$s])) {
					throw new UsageError(sprintf('The "-%s" option does not exist.', $s));
				}
				$name = $shortcuts[$s];
				$value = strlen($t) > 2 ? ltrim(substr($t, 2), '=') : null;
			}
			if (!isset($optDefs[$name])) {
				if (array_key_exists($name, self::GLOBAL)) {
					continue;
				}
				throw new UsageError(sprintf('The "--%s" option does not exist.', $name));
			}
			[, $mode, $isArray] = $optDefs[$name];
			if ($mode === 'none') {
				if ($value !== null) {
					throw new UsageError(sprintf('The "--%s" option does not accept a value.', $name));
				}
				$value = true;
			} elseif ($value === null) {
				$next = $tokens[0] ?? null;
				if ($next !== null && ($next === '' || $next[0] !== '-')) {
					$value = array_shift($tokens);
				} elseif ($mode === 'required') {
					throw new UsageError(sprintf('The "--%s" option requires a value.', $name));
				}
			}
			if ($isArray) {
				$opts[$name][] = $value;
			} else {
				$opts[$name] = $value;
			}
		}
		$given = $opts;
		foreach ($optDefs as $n => $o) {
			if (!array_key_exists($n, $opts)) {
				$opts[$n] = $o[3];
			}
		}
		$opts['__given'] = array_keys($given);
		$named = [];
		foreach ($argDefs as [$n, $required, $isArray]) {
			if ($isArray) {
				$named[$n] = $args;
				$args = [];
			} else {
				$named[$n] = array_shift($args);
			}
			if ($required && ($named[$n] === null || $named[$n] === [])) {
				$missing = array_map(fn ($a) => '"' . $a[0] . '"', array_filter($argDefs, fn ($a) => $a[1]));
				throw new UsageError('Not enough arguments (missing: ' . implode(', ', $missing) . ').');
			}
		}
		if ($args) {
			throw new UsageError($argDefs
				? 'Too many arguments, expected arguments ' . implode(' ', array_map(fn ($a) => '"' . $a[0] . '"', $argDefs)) . '.'
				: sprintf('No arguments expected, got "%s".', $args[0]));
		}
		return [$named, $opts];
	}

	private const GLOBAL_SHORT = ['h' => 1, 'q' => 1, 'V' => 1, 'n' => 1];

	// ---------------------------------------------------------------- output

	private function line(string $s = ''): void {
		$this->out[] = preg_replace('#</?(info|error|comment|warning|question)>#', '', $s);
	}

	private function flush(int $code): int {
		if (!$this->quiet && $this->out) {
			echo implode("\n", $this->out), "\n";
		}
		$this->out = [];
		return $code;
	}

	private static function str(mixed $v): ?string {
		return match (true) {
			$v === true => 'true',
			$v === false => 'false',
			$v === null => null,
			default => (string)$v,
		};
	}

	/** Upstream core/Command/Base::writeArrayInOutputFormat(). */
	private function writeArray(array $opts, array $items, string $prefix = '  - '): void {
		$format = $opts['output'] ?? 'plain';
		if ($format === 'json' || $format === 'json_pretty') {
			$this->line(json_encode($items, $format === 'json_pretty' ? JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES : 0));
			return;
		}
		foreach ($items as $k => $v) {
			if (is_array($v)) {
				$this->line($prefix . $k . ':');
				$this->writeArray(['output' => 'plain'], $v, '  ' . $prefix);
			} elseif (!is_int($k)) {
				$s = self::str($v);
				$this->line($prefix . $k . ($s === null ? '' : ': ' . $s));
			} else {
				$this->line($prefix . self::str($v));
			}
		}
	}

	/** Upstream core/Command/Base::writeMixedInOutputFormat(). */
	private function writeMixed(array $opts, mixed $v): void {
		if (($opts['output'] ?? 'plain') !== 'plain') {
			$this->line(json_encode($v, ($opts['output'] === 'json_pretty' ? JSON_PRETTY_PRINT : 0) | JSON_UNESCAPED_SLASHES));
		} elseif (is_array($v)) {
			$this->writeArray($opts, $v, '');
		} else {
			$this->line((string)(self::str($v) ?? 'null'));
		}
	}

	private function help(string $name, array $def): void {
		$this->line('Description:');
		$this->line('  ' . $def[0]);
		$this->line('');
		$this->line('Usage:');
		$this->line('  ' . $name . ($def[2] ? ' [options]' : '') . implode('', array_map(fn ($a) => ' ' . ($a[1] ? '' : '[') . '<' . $a[0] . '>' . ($a[2] ? '...' : '') . ($a[1] ? '' : ']'), $def[1])));
		if ($def[2]) {
			$this->line('');
			$this->line('Options:');
			foreach ($def[2] as $n => $o) {
				$this->line('  ' . ($o[0] ? '-' . $o[0] . ', ' : '    ') . '--' . $n . ($o[1] === 'required' ? '=' . strtoupper($n) : ($o[1] === 'optional' ? '[=' . strtoupper($n) . ']' : '')));
			}
		}
	}

	// ---------------------------------------------------------------- commands

	private function cmdList(array $a, array $o): int {
		$cmds = $this->registered;
		ksort($cmds);
		if ($o['format'] === 'json') {
			$list = [];
			foreach ($cmds as $n => $c) {
				$opts = [];
				foreach ($c[2] as $on => $od) {
					$opts[$on] = ['name' => '--' . $on, 'shortcut' => $od[0] ? '-' . $od[0] : '', 'accept_value' => $od[1] !== 'none',
						'is_value_required' => $od[1] === 'required', 'is_multiple' => $od[2], 'default' => $od[3]];
				}
				$args = [];
				foreach ($c[1] as [$an, $req, $arr]) {
					$args[$an] = ['name' => $an, 'is_required' => $req, 'is_array' => $arr];
				}
				$list[] = ['name' => $n, 'description' => $c[0], 'definition' => ['arguments' => (object)$args, 'options' => (object)$opts]];
			}
			$this->line(json_encode(['application' => ['name' => 'Nextcloud', 'version' => Server::$versionString], 'commands' => $list], JSON_UNESCAPED_SLASHES));
			return 0;
		}
		$this->line('Nextcloud ' . Server::$versionString);
		$this->line('');
		$this->line('Available commands:');
		foreach ($cmds as $n => $c) {
			$this->line(sprintf('  %-30s %s', $n, $c[0]));
		}
		return 0;
	}

	public static function statusValues(): array {
		$needUpgrade = Server::needUpgrade();
		return [
			'installed' => Server::installed(),
			'version' => Server::versionDotted(),
			'versionstring' => Server::$versionString,
			'edition' => '',
			'maintenance' => Server::maintenance(),
			'needsDbUpgrade' => $needUpgrade,
			'productname' => Server::PRODUCT_NAME,
			'extendedSupport' => false,
		];
	}

	private function cmdStatus(array $a, array $o): int {
		$values = self::statusValues();
		if ($this->verbosity > 0 || !$o['exit-code']) {
			$this->writeArray($o, $values);
		}
		if ($o['exit-code']) {
			if ($values['maintenance']) {
				return 1;
			}
			if ($values['needsDbUpgrade']) {
				return 2;
			}
		}
		return 0;
	}

	/** Upstream OC_Util::checkServer() module dependencies (Setup::getSystemInfo errors). */
	public static function missingModules(): array {
		$checks = [
			'zip' => fn () => class_exists('ZipArchive'), 'dom' => fn () => class_exists('DOMDocument'),
			'XMLWriter' => fn () => class_exists('XMLWriter'), 'XMLReader' => fn () => class_exists('XMLReader'),
			'libxml' => fn () => function_exists('xml_parser_create'), 'mbstring' => fn () => function_exists('mb_strcut'),
			'ctype' => fn () => function_exists('ctype_digit'), 'JSON' => fn () => function_exists('json_encode'),
			'GD' => fn () => function_exists('gd_info'), 'zlib' => fn () => function_exists('gzencode'),
			'SimpleXML' => fn () => function_exists('simplexml_load_string'), 'HASH Message Digest Framework' => fn () => function_exists('hash'),
			'cURL' => fn () => function_exists('curl_init'), 'OpenSSL' => fn () => function_exists('openssl_verify'),
			'PDO' => fn () => defined('PDO::ATTR_DRIVER_NAME'), 'posix' => fn () => function_exists('posix_getuid'),
		];
		return array_keys(array_filter($checks, fn ($f) => !$f()));
	}

	private function cmdInstall(array $a, array $o): int {
		$missing = self::missingModules();
		if ($missing) {
			foreach ($missing as $m) {
				$this->line(sprintf('<error>PHP module %s not installed.</error>', $m));
				$this->line('<info> -> Please ask your server administrator to install the module.</info>');
			}
			return 1;
		}
		$db = strtolower((string)$o['database']);
		if ($db !== 'pgsql') {
			throw new \InvalidArgumentException("Database <$db> is not supported. pgsql are supported.");
		}
		foreach (['database-user' => 'Database account not provided.', 'database-name' => 'Database name not provided.'] as $k => $msg) {
			if ($o[$k] === null) {
				throw new \InvalidArgumentException($msg);
			}
		}
		$disableAdmin = (bool)$o['disable-admin-user'];
		if (!$disableAdmin && $o['admin-pass'] === null) {
			throw new \InvalidArgumentException('stand-in: --admin-pass is required (no interactive prompt)');
		}
		if (!$disableAdmin && $o['admin-email'] !== null && !filter_var($o['admin-email'], FILTER_VALIDATE_EMAIL)) {
			throw new \InvalidArgumentException('Invalid e-mail-address <' . $o['admin-email'] . '> for <' . $o['admin-user'] . '>.');
		}
		$dbHost = (string)$o['database-host'] . ($o['database-port'] ? ':' . $o['database-port'] : '');
		$dataDir = rtrim((string)($o['data-dir'] ?? Server::$root . '/data'), '/');
		if (!is_dir($dataDir) && !@mkdir($dataDir, 0770, true) || !is_writable($dataDir)) {
			$this->line(sprintf('<error>Cannot create or write into the data directory %s</error>', $dataDir));
			return 1;
		}
		$config = Server::$config;
		try {
			$conn = Db::connect($config, ['dbtype' => 'pgsql', 'dbhost' => $dbHost, 'dbport' => '', 'dbname' => $o['database-name'],
				'dbuser' => $o['database-user'], 'dbpassword' => (string)$o['database-pass'], 'dbtableprefix' => $config->get('dbtableprefix', 'oc_')]);
		} catch (\PDOException $e) {
			$this->line('<error>Error while trying to create admin account: PostgreSQL Login and/or password not valid</error>');
			$this->line('<info> -> You need to enter details of an existing account. ' . $e->getMessage() . '</info>');
			return 1;
		}
		// Primary storage must be reachable before anything is written (upstream writes appdata there).
		Server::storage()->bucketExists() || throw new \RuntimeException('objectstore: bucket ' . Server::storage()->bucket . ' does not exist (the farm creates it)');
		$conn->createSchema();
		$random = fn (int $n, string $chars) => implode('', array_map(fn () => $chars[random_int(0, strlen($chars) - 1)], range(1, $n)));
		$alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
		$values = [
			'instanceid' => $config->get('instanceid') ?? 'oc' . $random(10, 'abcdefghijklmnopqrstuvwxyz0123456789'),
			'passwordsalt' => $random(30, $alnum . '+/'),
			'secret' => $random(48, $alnum . '+/'),
			'trusted_domains' => ['localhost'],
			'datadirectory' => $dataDir,
			'dbtype' => 'pgsql',
			'version' => Server::versionDotted(),
			'dbname' => $o['database-name'],
			'dbhost' => $dbHost,
			'dbtableprefix' => $conn->prefix,
			'dbuser' => $o['database-user'],
			'dbpassword' => (string)$o['database-pass'],
		];
		if ($config->get('overwrite.cli.url') === null) {
			$values['overwrite.cli.url'] = 'http://localhost';
		}
		$config->setValues($values);
		Server::writeDataDirMarker($dataDir);
		$now = (string)time();
		$conn->setAppValue('core', 'installedat', $now);
		$conn->setAppValue('core', 'lastupdatedat', $now);
		$conn->setAppValue('core', 'vendor', 'nextcloud-standin');
		$conn->setAppValue('core', 'backgroundjobs_mode', 'ajax');
		// Upstream Installer::installShippedApps(): the default- and always-enabled apps of
		// core/shipped.json that are in an apps root.
		$shipped = Server::shipped();
		foreach (Server::apps() as $id => $app) {
			if (in_array($id, $shipped['alwaysEnabled'], true) || in_array($id, $shipped['defaultEnabled'], true)) {
				$conn->setAppValue($id, 'enabled', 'yes');
				$conn->setAppValue($id, 'installed_version', $app['version']);
			}
		}
		if (!$disableAdmin) {
			$conn->createUser((string)$o['admin-user'], (string)$o['admin-pass']);
			$conn->addToGroup((string)$o['admin-user'], 'admin');
			if ($o['admin-email'] !== null) {
				$conn->setPreference((string)$o['admin-user'], 'settings', 'email', (string)$o['admin-email']);
			}
		}
		$config->set('installed', true);
		Server::reload();
		Server::log()->info('stand-in installed in database ' . $o['database-name'], 'core');
		$this->line('Nextcloud was successfully installed');
		return 0;
	}

	private function cmdMaintenanceMode(array $a, array $o): int {
		$on = Server::maintenance();
		if ($o['on'] || $o['off']) {
			$want = (bool)$o['on'];
			if ($on === $want) {
				$this->line('Maintenance mode already ' . ($want ? 'enabled' : 'disabled'));
			} else {
				Server::$config->set('maintenance', $want);
				$this->line('Maintenance mode ' . ($want ? 'enabled' : 'disabled'));
			}
		} elseif ($o['check-if-disabled']) {
			return $on ? 1 : 0;
		} else {
			$this->line($on ? 'Maintenance mode is currently enabled' : 'Maintenance mode is currently disabled');
		}
		return 0;
	}

	private function cmdNoop(array $a, array $o, string $name): int {
		$this->line("stand-in: $name has nothing to do (no upstream schema here)");
		return 0;
	}

	/**
	 * Upstream core/Command/Upgrade.php + lib/private/Updater.php upgrade(): maintenance mode is
	 * turned on FIRST, then the checks run; on any failure it stays on ("Maintenance mode is
	 * kept active", exit 5). doUpgrade(): isUpgradePossible() ($OC_VersionCanBeUpgradedFrom of
	 * version.php: previous or same major; never older), schema, checkAppsRequirements()
	 * (incompatible non-shipped apps disabled, a shipped one aborts), app upgrades, new shipped
	 * apps, `version` written last. Nothing to do: "No upgrade required." (exit 0; exit 2 in
	 * maintenance mode). A code tree older than the installed version never gets here: every
	 * occ command refuses it (Server::needUpgrade()).
	 * Logging, as Updater::upgrade() + logAllEvents(): the `loglevel` read first, then set to
	 * debug in config.php (setSystemValue) for the run and set back at the end, even after a
	 * failure; each step is logged at info ('app' updater), failures at error. So every upgrade
	 * leaves "\OC\Updater::..." lines in the space's log at the farm's warning level.
	 */
	private function cmdUpgrade(): int {
		if (!Server::needUpgrade()) {
			if (Server::maintenance()) {
				$this->line('<comment>Nextcloud is in maintenance mode</comment>');
				$this->line('<comment>Maybe an upgrade is already in process. Please check the logfile (data/nextcloud.log). If you want to re-run the upgrade procedure, remove the "maintenance mode" from config.php and call this script again.</comment>');
				return 2;
			}
			$this->line('<info>No upgrade required.</info>');
			return 0;
		}
		$from = (string)Server::$config->get('version', '0.0.0');
		$to = Server::versionDotted();
		$logLevel = (int)Server::$config->get('loglevel', 2);
		// Emitted before the level changes: dropped at the default warning level, as upstream.
		$this->event('setDebugLogLevel', 'Set log level to debug', 'Setting log level to debug');
		Server::$config->set('loglevel', 0);
		$wasMaintenance = Server::maintenance();
		if (!$wasMaintenance) {
			Server::$config->set('maintenance', true);
			$this->event('maintenanceEnabled', 'Turned on maintenance mode');
		}
		$success = true;
		try {
			$this->doUpgrade($from, $to);
		} catch (\Throwable $e) {
			// Updater's 'failure' event: "<message>: <hint>" for a hint, else "<class>: <message>".
			$failure = $e instanceof HintException ? $e->getMessage() . ': ' . $e->hint : get_class($e) . ': ' . $e->getMessage();
			Server::log()->error($e->getMessage(), 'core');
			$this->event('failure', $failure, level: 3, style: 'error');
			$success = false;
		}
		$this->event('updateEnd', $success ? 'Update successful' : 'Update failed', level: $success ? 1 : 3,
			style: $success ? 'info' : 'error');
		if (!$wasMaintenance && $success) {
			Server::$config->set('maintenance', false);
			$this->event('maintenanceDisabled', 'Turned off maintenance mode');
		} else {
			$this->event('maintenanceActive', 'Maintenance mode is kept active');
		}
		$this->event('resetLogLevel', 'Reset log level to ' . (self::LOG_LEVEL_NAMES[$logLevel] ?? (string)$logLevel) . '(' . $logLevel . ')', 'Resetting log level');
		Server::$config->set('loglevel', $logLevel);
		return $success ? 0 : 5;
	}

	/** Updater::$logLevelNames. */
	private const LOG_LEVEL_NAMES = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'];

	/**
	 * One Updater event: upstream's listener logs "\OC\Updater::<event>: <message>" (logAllEvents():
	 * info, a failure at error) and core/Command/Upgrade.php prints the message (or its own text).
	 */
	private function event(string $name, string $message, ?string $printed = null, int $level = 1,
		string $style = 'info'): void {
		Server::log()->write($level, '\\OC\\Updater::' . $name . ': ' . $message, 'updater');
		$this->line("<$style>" . ($printed ?? $message) . "</$style>");
	}

	private function doUpgrade(string $from, string $to): void {
		if (!Server::upgradePossible($from)) {
			throw new \Exception('Updates between multiple major versions and downgrades are unsupported.');
		}
		$dataDir = (string)Server::$config->get('datadirectory', '');
		if ($dataDir !== '' && is_dir($dataDir)) {
			// Upstream Updater::doUpgrade() writes .ncdata; repair step "Remove legacy \".ocdata\" file".
			Server::writeDataDirMarker($dataDir);
			@unlink($dataDir . '/.ocdata');
		}
		$this->event('dbUpgradeBefore', 'Updating database schema');
		$db = Server::db();
		$db->createSchema();
		$this->event('dbUpgrade', 'Updated database');
		$apps = Server::apps();
		$shipped = Server::shipped();
		$check = Apps::requirements(array_keys($this->enabledApps()), $apps, $shipped['shippedApps'], $to);
		foreach ($check['disable'] as $id) {
			$db->setAppValue($id, 'enabled', 'no');
			$this->event('incompatibleAppDisabled', 'Disabled incompatible app: ' . $id, style: 'comment');
		}
		if ($check['error'] !== null) {
			throw new \UnexpectedValueException($check['error']);
		}
		foreach ($this->enabledApps() as $id => $installed) {
			if (isset($apps[$id]) && $installed !== $apps[$id]['version']) {
				$this->event('appUpgradeStarted', 'Updating <' . $id . '> ...');
				$db->setAppValue($id, 'installed_version', $apps[$id]['version']);
				$this->event('appUpgrade', 'Updated <' . $id . '> to ' . $apps[$id]['version']);
			}
		}
		// Installer::installShippedApps(true): default-enabled shipped apps never installed before.
		foreach ($apps as $id => $app) {
			if ((in_array($id, $shipped['alwaysEnabled'], true) || in_array($id, $shipped['defaultEnabled'], true))
				&& $db->getAppValue($id, 'installed_version') === null && $db->getAppValue($id, 'enabled') !== 'no') {
				$db->setAppValue($id, 'enabled', 'yes');
				$db->setAppValue($id, 'installed_version', $app['version']);
			}
		}
		$db->setAppValue('core', 'lastupdatedat', '0');
		// Only set the final version if everything went well.
		Server::$config->set('version', $to);
	}

	private const SENSITIVE = ['instanceid', 'datadirectory', 'dbname', 'dbhost', 'dbpassword', 'dbuser', 'passwordsalt', 'secret',
		'mail_smtpname', 'mail_smtppassword', 'redis', 'objectstore', 'preview_imaginary_key', 'onlyoffice', 'trusted_domains'];

	private function cmdConfigList(array $a, array $o): int {
		$system = [];
		foreach (Server::$config->keys() as $k) {
			$system[$k] = (!$o['private'] && in_array($k, self::SENSITIVE, true)) ? '***REMOVED SENSITIVE VALUE***' : Server::$config->get($k);
		}
		$apps = [];
		foreach (Server::db()->q('SELECT appid, configkey, configvalue FROM *PREFIX*appconfig ORDER BY appid, configkey') as $r) {
			$apps[$r['appid']][$r['configkey']] = $r['configvalue'];
		}
		$app = $a['app'] ?? 'all';
		$out = match ($app) {
			'all' => ['system' => $system, 'apps' => $apps],
			'system' => ['system' => $system],
			default => ['apps' => [$app => $apps[$app] ?? []]],
		};
		$this->writeMixed($o, $out);
		return 0;
	}

	/**
	 * Upstream core/Command/Config/Import.php: {"system": {...}, "apps": {app: {key: value}}}
	 * from the file argument, else from stdin read NON-blocking like upstream (whatever the pipe
	 * holds when occ gets there: pipe all of it before, keep it under the 64 KiB pipe buffer or
	 * use a file). App values: strings and integers, null deletes the key.
	 */
	private function cmdConfigImport(array $a, array $o): int {
		$file = $a['file'];
		if ($file !== null) {
			$json = file_get_contents($file);
		} else {
			stream_set_blocking(STDIN, false);
			$json = file_get_contents('php://stdin');
			stream_set_blocking(STDIN, true);
		}
		try {
			$content = json_decode((string)$json, true);
			if (!is_array($content) || empty($content)) {
				throw new \UnexpectedValueException('The file must contain a valid json array');
			}
			$valid = ['system', 'apps'];
			$extra = array_diff(array_keys($content), $valid);
			if ($extra) {
				throw new \UnexpectedValueException('Found invalid entries in root: ' . implode(', ', $extra));
			}
			if (!array_intersect(array_keys($content), $valid)) {
				throw new \UnexpectedValueException('At least one key of the following is expected: ' . implode(', ', $valid));
			}
			if (isset($content['system'])) {
				if (!is_array($content['system'])) {
					throw new \UnexpectedValueException('The system config array is not an array');
				}
				foreach ($content['system'] as $name => $value) {
					self::checkImportType($value, (string)$name);
				}
			}
			if (isset($content['apps'])) {
				if (!is_array($content['apps'])) {
					throw new \UnexpectedValueException('The apps config array is not an array');
				}
				foreach ($content['apps'] as $app => $values) {
					foreach ((array)$values as $key => $value) {
						if (!is_int($value) && !is_string($value) && !is_null($value)) {
							throw new \UnexpectedValueException('Invalid app config value for "' . $app . '":"' . $key . '". Only integers, strings and null (delete) are allowed.');
						}
					}
				}
			}
		} catch (\UnexpectedValueException $e) {
			$this->line('<error>' . $e->getMessage() . '</error>');
			return 1;
		}
		if (!empty($content['system'])) {
			Server::$config->setValues($content['system']);
		}
		foreach ($content['apps'] ?? [] as $app => $values) {
			foreach ((array)$values as $key => $value) {
				$value === null ? Server::db()->deleteAppValue((string)$app, (string)$key) : Server::db()->setAppValue((string)$app, (string)$key, (string)$value);
			}
		}
		$this->line('<info>Config successfully imported from: ' . $file . '</info>');
		return 0;
	}

	private static function checkImportType(mixed $value, string $name): void {
		if (!is_array($value) && !is_bool($value) && !is_int($value) && !is_string($value) && !is_null($value) && !is_float($value)) {
			throw new \UnexpectedValueException('Invalid system config value for "' . $name . '". Only arrays, bools, integers, floats, strings and null (delete) are allowed.');
		}
		foreach (is_array($value) ? $value : [] as $v) {
			self::checkImportType($v, $name);
		}
	}

	private function cmdSystemGet(array $a, array $o): int {
		$names = $a['name'];
		$value = Server::$config->get(array_shift($names));
		$hasDefault = in_array('default-value', $o['__given'], true);
		foreach ($names as $n) {
			if (is_array($value) && array_key_exists($n, $value)) {
				$value = $value[$n];
			} else {
				$value = null;
				break;
			}
		}
		if ($value === null) {
			if (!$hasDefault) {
				return 1;
			}
			$value = $o['default-value'];
		}
		$this->writeMixed($o, $value);
		return 0;
	}

	/** Upstream core/Command/Config/System/CastHelper::castValue(). */
	public static function cast(?string $value, string $type): array {
		switch ($type) {
			case 'integer':
			case 'int':
				if (!is_numeric($value)) {
					throw new \InvalidArgumentException('Non-numeric value specified');
				}
				return [(int)$value, 'integer ' . (int)$value];
			case 'double':
			case 'float':
				if (!is_numeric($value)) {
					throw new \InvalidArgumentException('Non-numeric value specified');
				}
				return [(float)$value, 'double ' . (float)$value];
			case 'boolean':
			case 'bool':
				$value = strtolower((string)$value);
				return match ($value) {
					'true' => [true, 'boolean true'],
					'false' => [false, 'boolean false'],
					default => throw new \InvalidArgumentException('Unable to parse value as boolean'),
				};
			case 'null':
				return [null, 'null'];
			case 'string':
				$value = (string)$value;
				return [$value, $value === '' ? 'empty string' : 'string ' . $value];
			case 'json':
				$decoded = json_decode((string)$value, true);
				return [$decoded, 'json ' . json_encode($decoded)];
			default:
				throw new \InvalidArgumentException('Invalid type');
		}
	}

	private function cmdSystemSet(array $a, array $o): int {
		$names = $a['name'];
		[$value, $readable] = self::cast($o['value'], (string)$o['type']);
		$key = array_shift($names);
		if ($names) {
			$existing = Server::$config->get($key);
			$ref = is_array($existing) ? $existing : [];
			$cursor = &$ref;
			foreach ($names as $i => $n) {
				if ($i < count($names) - 1) {
					if (!isset($cursor[$n]) || !is_array($cursor[$n])) {
						$cursor[$n] = [];
					}
					$cursor = &$cursor[$n];
				} else {
					if ($o['update-only'] && !isset($cursor[$n])) {
						throw new \UnexpectedValueException('Config parameter does not exist');
					}
					$cursor[$n] = $value;
				}
			}
			unset($cursor);
			Server::$config->set($key, $ref);
		} else {
			if ($o['update-only'] && !in_array($key, Server::$config->keys(), true)) {
				throw new \UnexpectedValueException('Config parameter does not exist');
			}
			Server::$config->set($key, $value);
		}
		$this->line('<info>System config value ' . implode(' => ', $a['name']) . ' set to ' . $readable . '</info>');
		return 0;
	}

	private function cmdSystemDelete(array $a, array $o): int {
		$names = $a['name'];
		$key = $names[0];
		if (count($names) === 1) {
			if ($o['error-if-not-exists'] && !in_array($key, Server::$config->keys(), true)) {
				$this->line('<error>System config ' . $key . ' could not be deleted because it did not exist</error>');
				return 1;
			}
			Server::$config->delete($key);
		} else {
			$value = Server::$config->get($key);
			$cursor = &$value;
			$last = array_pop($names);
			foreach (array_slice($names, 1) as $n) {
				$cursor = &$cursor[$n];
			}
			if (!is_array($cursor) || !array_key_exists($last, $cursor)) {
				if ($o['error-if-not-exists']) {
					$this->line('<error>System config ' . implode(' => ', $a['name']) . ' could not be deleted because it did not exist</error>');
					return 1;
				}
			} else {
				unset($cursor[$last]);
			}
			unset($cursor);
			Server::$config->set($key, $value);
		}
		$this->line('<info>System config value ' . implode(' => ', $a['name']) . ' deleted</info>');
		return 0;
	}

	private function cmdAppGet(array $a, array $o): int {
		$value = Server::db()->getAppValue($a['app'], $a['name']);
		if ($value === null) {
			if (!in_array('default-value', $o['__given'], true)) {
				return 1;
			}
			$value = $o['default-value'];
		}
		$this->writeMixed($o, $value);
		return 0;
	}

	private function cmdAppSet(array $a, array $o): int {
		$db = Server::db();
		if ($o['update-only'] && $db->getAppValue($a['app'], $a['name']) === null) {
			$this->line('<comment>Config value ' . $a['name'] . ' for app ' . $a['app'] . ' not updated, as it has not been set before.</comment>');
			return 1;
		}
		$value = (string)($o['value'] ?? '');
		$type = $o['type'] ?? 'mixed';
		if (!in_array($type, ['mixed', 'string', 'integer', 'int', 'float', 'boolean', 'bool', 'array'], true)) {
			throw new \InvalidArgumentException('Invalid type');
		}
		$db->setAppValue($a['app'], $a['name'], $value);
		$this->line("<info>Config value '{$a['name']}' for app '{$a['app']}' is now set to '$value', stored as $type in fast cache</info>");
		return 0;
	}

	private function cmdAppDelete(array $a, array $o): int {
		$db = Server::db();
		if ($o['error-if-not-exists'] && $db->getAppValue($a['app'], $a['name']) === null) {
			$this->line('<error>Config ' . $a['name'] . ' of app ' . $a['app'] . ' could not be deleted because it did not exist</error>');
			return 1;
		}
		$db->deleteAppValue($a['app'], $a['name']);
		$this->line('<info>Config value ' . $a['name'] . ' of app ' . $a['app'] . ' deleted</info>');
		return 0;
	}

	private function enabledApps(): array {
		$db = Server::db();
		$out = [];
		foreach ($db->q("SELECT appid, configvalue FROM *PREFIX*appconfig WHERE configkey = 'enabled'") as $r) {
			if ($r['configvalue'] !== 'no') {
				$out[$r['appid']] = $db->getAppValue($r['appid'], 'installed_version') ?? true;
			}
		}
		return $out;
	}

	/**
	 * Upstream core/Command/App/ListApps.php: {"enabled": {app: installed version}, "disabled":
	 * {app: "<code version>" or "<code version> (installed <version>)"}}, each sorted; --enabled /
	 * --disabled show only that part. An empty part is a JSON list `[]` (PHP empty array).
	 */
	private function cmdAppList(array $a, array $o): int {
		$enabled = $this->enabledApps();
		$installedVersions = [];
		foreach (Server::db()->q("SELECT appid, configvalue FROM *PREFIX*appconfig WHERE configkey = 'installed_version'") as $r) {
			$installedVersions[$r['appid']] = $r['configvalue'];
		}
		$showEnabled = $o['enabled'] || !$o['disabled'];
		$showDisabled = $o['disabled'] || !$o['enabled'];
		$apps = [];
		if ($showEnabled) {
			$apps['enabled'] = [];
		}
		if ($showDisabled) {
			$apps['disabled'] = [];
		}
		$shippedApps = Server::shipped()['shippedApps'];
		foreach (Server::apps() as $id => $app) {
			// --shipped=true|false: only the apps of core/shipped.json, or only the others.
			if ($o['shipped'] !== null && in_array($id, $shippedApps, true) !== ($o['shipped'] === 'true')) {
				continue;
			}
			if (isset($enabled[$id])) {
				if ($showEnabled) {
					$apps['enabled'][$id] = $enabled[$id];
				}
			} elseif ($showDisabled) {
				$apps['disabled'][$id] = $app['version'] . (isset($installedVersions[$id]) ? ' (installed ' . $installedVersions[$id] . ')' : '');
			}
		}
		if (($o['output'] ?? 'plain') === 'plain') {
			if (isset($apps['enabled'])) {
				$this->line('Enabled:');
				$this->writeArray($o, $apps['enabled']);
			}
			if (isset($apps['disabled'])) {
				$this->line('Disabled:');
				$this->writeArray($o, $apps['disabled']);
			}
		} else {
			$this->writeArray($o, $apps);
		}
		return 0;
	}

	/**
	 * Upstream core/Command/App/Enable.php: "already enabled" (no groups) → else an app in no
	 * apps root is downloaded from the app store first (Installer::downloadApp: a writable root,
	 * then the store, which is off on the farm) → Installer::installApp: info.xml id, then the
	 * <nextcloud min-version max-version> range (--force ignores max-version). Each refusal is
	 * the exception message on stdout; the command goes on with the next app and exits 1.
	 */
	private function cmdAppEnable(array $a, array $o): int {
		$apps = Server::apps();
		$enabled = $this->enabledApps();
		$groups = array_values(array_filter((array)$o['groups']));
		$code = 0;
		$db = Server::db();
		foreach ($a['app-id'] as $id) {
			if (isset($enabled[$id]) && !$groups) {
				$this->line($id . ' already enabled');
				continue;
			}
			$error = Apps::enableError($id, $apps[$id] ?? null, Server::appsRoots(), Server::versionDotted(), (bool)$o['force']);
			if ($error !== null) {
				$this->line($error);
				$code = 1;
				continue;
			}
			$db->setAppValue($id, 'enabled', $groups ? json_encode($groups) : 'yes');
			$db->setAppValue($id, 'installed_version', $apps[$id]['version']);
			$this->line($id . ' ' . $apps[$id]['version'] . ' enabled' . ($groups ? ' for groups: ' . implode(', ', $groups) : ''));
		}
		return $code;
	}

	private function cmdAppDisable(array $a, array $o): int {
		$apps = Server::apps();
		$always = Server::shipped()['alwaysEnabled'];
		$enabled = $this->enabledApps();
		$code = 0;
		foreach ($a['app-id'] as $id) {
			if (!isset($enabled[$id])) {
				$this->line('No such app enabled: ' . $id);
				continue;
			}
			if (in_array($id, $always, true)) {
				$this->line($id . " can't be disabled.");
				$code = 2;
				continue;
			}
			Server::db()->setAppValue($id, 'enabled', 'no');
			$this->line($id . ' ' . ($apps[$id]['version'] ?? '') . ' disabled');
		}
		return $code;
	}

	/**
	 * Upstream core/Command/User/Add.php with lib/private/User/Manager.php createUser(): exists →
	 * password → the hard account limit (Support/Subscription/Assertion::createUserIsLegit,
	 * Registry::delegateIsHardUserLimitReached: `one-click-instance` true and enabled accounts
	 * (all minus core/enabled = 'false') >= `one-click-instance.user-limit`, default 50) →
	 * account name checks → created; then display name, groups, email (an invalid email
	 * exits 1 AFTER the account was created, like upstream).
	 */
	private function cmdUserAdd(array $a, array $o): int {
		$uid = (string)$a['uid'];
		$db = Server::db();
		if ($db->userExists($uid)) {
			$this->line('<error>The account "' . $uid . '" already exists.</error>');
			return 1;
		}
		if ($o['password-from-env']) {
			$password = getenv('NC_PASS') ?: getenv('OC_PASS');
			if (!$password) {
				$this->line('<error>--password-from-env given, but NC_PASS/OC_PASS is empty!</error>');
				return 1;
			}
		} elseif ($o['generate-password']) {
			$password = bin2hex(random_bytes(16));
		} else {
			$this->line('<error>Interactive input or --password-from-env or --generate-password is needed for setting a password!</error>');
			return 1;
		}
		if ($this->hardUserLimitReached($db)) {
			Server::log()->warning('The account limit was reached and the new account was not created', 'lib');
			$this->line('<error>The user was not created because the user limit has been reached. Check your notifications to learn more.</error>');
			return 1;
		}
		if (!preg_match("/^[a-zA-Z0-9 _.@\\-']+$/", $uid)) {
			$this->line('<error>Only the following characters are allowed in a username: "a-z", "A-Z", "0-9", spaces and "_.@-\'"</error>');
			return 1;
		}
		$db->createUser($uid, (string)$password);
		$this->line('<info>The account "' . $uid . '" was created successfully</info>');
		if ($o['display-name']) {
			$db->setDisplayName($uid, (string)$o['display-name']);
			$this->line('Display name set to "' . $o['display-name'] . '"');
		}
		foreach (array_filter((array)$o['group']) as $gid) {
			if ($db->addToGroup($uid, (string)$gid)) {
				$this->line('Created group "' . $gid . '"');
			}
			$this->line('Account "' . $uid . '" added to group "' . $gid . '"');
		}
		if (!empty($o['email'])) {
			if (!filter_var($o['email'], FILTER_VALIDATE_EMAIL)) {
				$this->line('<error>The given email address "' . $o['email'] . '" is invalid. Email not set for the user.</error>');
				return 1;
			}
			$db->setPreference($uid, 'settings', 'email', (string)$o['email']);
			// Upstream sends a welcome email here (newUser.sendEmail); the stand-in sends nothing.
		}
		return 0;
	}

	private function hardUserLimitReached(Db $db): bool {
		return Server::$config->getBool('one-click-instance', false)
			&& self::userLimitReached(true, Server::$config->get('one-click-instance.user-limit', 50), $db->countUsers(), $db->countDisabledUsers());
	}

	/** Upstream Registry::delegateIsHardUserLimitReached() without a subscription. */
	public static function userLimitReached(bool $oneClick, mixed $limit, int $accounts, int $disabled): bool {
		return $oneClick && max(0, $accounts - $disabled) >= (int)$limit;
	}

	private function cmdUserList(array $a, array $o): int {
		$this->writeArray($o, Server::db()->users((int)$o['limit'], (int)$o['offset']));
		return 0;
	}

	private function office(): Office {
		return new Office(fn (string $app, string $key) => Server::db()->getAppValue($app, $key),
			fn (string $app, string $key, string $value) => Server::db()->setAppValue($app, $key, $value),
			fn (string $s) => $this->line($s));
	}

	private function cmdRichdocumentsActivateConfig(array $a, array $o): int {
		return $this->office()->activateConfig($o['wopi-url'], $o['callback-url']);
	}

	private function cmdOnlyofficeDocumentServer(array $a, array $o): int {
		return $this->office()->documentServer((bool)$o['check']);
	}

	private function cmdBackgroundMode(array $a, array $o, string $name): int {
		$mode = substr($name, strlen('background:'));
		Server::db()->setAppValue('core', 'backgroundjobs_mode', $mode);
		$this->line("Set mode for background jobs to '$mode'");
		return 0;
	}
}
