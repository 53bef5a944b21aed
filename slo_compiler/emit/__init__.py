"""The emitters every output shares, below the targets: YAML and JSON text with the
header naming its source (text), and the tree of files a compile produces, some rendered
later by helper processes (tree)."""
