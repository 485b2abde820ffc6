from services.reconciler.main import main

main()
