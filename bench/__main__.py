from bench.matching import main

main()
