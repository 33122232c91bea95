"""`python -m services.metrics`: serve the metrics service."""

from services.metrics.app import PORT, SERVICE, create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
