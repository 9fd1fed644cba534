<?php
// Nextcloud STAND-IN (Nuagerie tests), not Nextcloud. Same variables as upstream's version.php.
// lab/nextcloud-standin/build.sh rewrites the two version lines when it builds another version.
$OC_Version = [33, 0, 8, 0];
$OC_VersionString = '33.0.8-standin';
// Upstream allows upgrades from the previous major and within the same major.
$OC_VersionCanBeUpgradedFrom = [
	'nextcloud' => [
		(($OC_Version[0] - 1) . '.0') => true,
		($OC_Version[0] . '.0') => true,
	],
];
$OC_Channel = 'stable';
$OC_Build = 'nuagerie-standin';
$vendor = 'nextcloud-standin';
