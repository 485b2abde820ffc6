from shared.chassis.service import Service, run_service

__all__ = ["Service", "run_service"]
