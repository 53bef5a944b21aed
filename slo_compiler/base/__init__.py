"""The vocabulary every stage shares and none owns: it imports nothing of the package."""
