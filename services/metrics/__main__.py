"""`python -m services.metrics`: serve the metrics service."""

from shared.serve import serve

from services.metrics.app import PORT, SERVICE, create_app

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
