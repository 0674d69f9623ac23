"""The harvest: whole listings exported into a sink (JSON Lines or SQLite), asset files
alongside, and the command line's display of its progress."""
