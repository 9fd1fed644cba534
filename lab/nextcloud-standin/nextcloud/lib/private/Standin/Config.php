<?php

declare(strict_types=1);

namespace Standin;

/**
 * System config, loaded like upstream lib/private/Config.php: config.php first, then every
 * `*.config.php` of the config dir (natsort order) merged over it with array_merge (top-level
 * keys replace, no deep merge). NC_<key> environment variables win over both.
 *
 * Writes behave like upstream too: the WHOLE merged cache is written back to config.php,
 * so keys from `*.config.php` files get copied into config.php on the first write
 * (maintenance:install, maintenance:mode, config:system:set, upgrade). The copies are
 * harmless while the `*.config.php` file still sets the key (it is merged last) but stay
 * behind when a key is removed from it: never remove a farm key, override it.
 */
class Config {
	private array $cache = [];
	private array $env = [];
	private string $file;

	public function __construct(private string $dir) {
		$this->dir = rtrim($dir, '/') . '/';
		$this->file = $this->dir . 'config.php';
		$this->read();
	}

	public function dir(): string {
		return $this->dir;
	}

	/** The files read, in order (config.php first when it exists). */
	public function files(): array {
		$files = is_file($this->file) ? [$this->file] : [];
		$extra = glob($this->dir . '*.config.php');
		if (is_array($extra)) {
			natsort($extra);
			$files = array_merge($files, array_values($extra));
		}
		return $files;
	}

	private function read(): void {
		$this->cache = [];
		foreach ($this->files() as $file) {
			// Like upstream: another process (occ) may have rewritten the file since opcache cached it.
			if (function_exists('opcache_invalidate')) {
				@opcache_invalidate($file, false);
			}
			$fp = @fopen($file, 'r');
			if ($fp === false) {
				throw new \RuntimeException(sprintf('Could not open the config file %s', $file));
			}
			flock($fp, LOCK_SH);
			try {
				$CONFIG = null;
				(static function () use ($file, &$CONFIG) {
					include $file;
				})();
			} finally {
				flock($fp, LOCK_UN);
				fclose($fp);
			}
			if (is_array($CONFIG)) {
				$this->cache = array_merge($this->cache, $CONFIG);
			}
		}
		$this->env = [];
		foreach (getenv() as $name => $value) {
			if (str_starts_with($name, 'NC_')) {
				$this->env[substr($name, 3)] = $value;
			}
		}
	}

	public function keys(): array {
		return array_keys($this->cache);
	}

	public function get(string $key, mixed $default = null): mixed {
		if (array_key_exists($key, $this->env)) {
			return $this->env[$key];
		}
		return $this->cache[$key] ?? $default;
	}

	public function getBool(string $key, bool $default = false): bool {
		$value = $this->get($key, $default);
		return is_bool($value) ? $value : in_array(strtolower((string)$value), ['1', 'true', 'yes', 'on'], true);
	}

	/** @param array<string, mixed> $values null deletes the key */
	public function setValues(array $values): void {
		$changed = false;
		foreach ($values as $key => $value) {
			if ($value === null) {
				if (array_key_exists($key, $this->cache)) {
					unset($this->cache[$key]);
					$changed = true;
				}
			} elseif (!array_key_exists($key, $this->cache) || $this->cache[$key] !== $value) {
				$this->cache[$key] = $value;
				$changed = true;
			}
		}
		if ($changed) {
			$this->write();
		}
	}

	public function set(string $key, mixed $value): void {
		$this->setValues([$key => $value]);
	}

	public function delete(string $key): void {
		$this->setValues([$key => null]);
	}

	private function write(): void {
		if ($this->getBool('config_is_read_only')) {
			throw new HintException('Config is set to be read-only via option "config_is_read_only".',
				'Unset "config_is_read_only" to allow changes to the config file.');
		}
		if (!isset($this->cache['version'])) {
			throw new HintException(sprintf('Configuration was not read or initialized correctly, not overwriting %s', $this->file));
		}
		$content = "<?php\n\$CONFIG = " . var_export($this->cache, true) . ";\n";
		if (!@touch($this->file)) {
			throw new HintException("Can't write into config directory!",
				'This can usually be fixed by giving the webserver write access to the config directory.');
		}
		chmod($this->file, 0640);
		$fp = fopen($this->file, 'r+');
		flock($fp, LOCK_EX);
		ftruncate($fp, 0);
		fwrite($fp, $content);
		fflush($fp);
		flock($fp, LOCK_UN);
		fclose($fp);
		if (function_exists('opcache_invalidate')) {
			@opcache_invalidate($this->file, true);
		}
	}
}

class HintException extends \Exception {
	public function __construct(string $message, public string $hint = '') {
		parent::__construct($message);
	}
}
