"""Checks of what the models accept but the compiler cannot use and that need no
planning knowledge, one module per concern, each returning every problem it finds as
positioned Diagnostics (a file with five mistakes shows five errors): file names as
output names (names), the config file (config) and the platform manifest it names
(platform). The checks that resolve SLIs and tiers live with the rules (rules/checks).
"""
