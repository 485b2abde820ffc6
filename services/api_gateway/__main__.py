from services.api_gateway.main import main

main()
