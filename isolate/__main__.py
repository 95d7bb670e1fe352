from isolate.cli import main

main()
