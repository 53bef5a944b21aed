"""Checks of what the models accept but the compiler cannot use, one module per concern,
each returning every problem it finds as positioned Diagnostics (a file with five
mistakes shows five errors): one SLO file's fields (slos), names across files (unique),
file names as output names (names), latency thresholds against published buckets
(buckets), the config file (config) and the platform manifest it names (platform).
"""
