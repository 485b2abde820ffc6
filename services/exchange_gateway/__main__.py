from services.exchange_gateway.main import main

main()
