from gitforge.cli import main

main()
