from evaluators.cli import main

main()
