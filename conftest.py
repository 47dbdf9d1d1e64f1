"""Only what this repository's own runs need; the plugin needs nothing from here."""

pytest_plugins = ["pytester"]
