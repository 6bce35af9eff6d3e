"""`python -m chatlens.cli ...`, as the `chatlens` script."""

from chatlens.cli.main import main

main()
