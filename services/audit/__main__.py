"""`python -m services.audit`: serve the audit service."""

from services.audit.app import PORT, SERVICE, create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
