from services.risk.main import main

main()
