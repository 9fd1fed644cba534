<?php

declare(strict_types=1);

namespace Standin;

/** A command-line usage error (Symfony Console's messages; exit code 1). */
final class UsageError extends \InvalidArgumentException {
}
