"""`python -m imr_assist.cli ...`."""

from imr_assist.cli.commands import main

main()
