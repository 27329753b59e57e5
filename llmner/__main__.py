from llmner.cli import main

main()
