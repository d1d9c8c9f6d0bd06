from cimprovider.cli.main import main

main()
