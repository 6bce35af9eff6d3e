"""`python -m chatlens.cli ...`, as the `chatlens` script."""

from chatlens.cli.main import main

if __name__ == "__main__":  # a spawned child process imports this module again: not a run
    main()
