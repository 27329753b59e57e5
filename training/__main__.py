from training.twin import main

main()
