"""`python -m services.audit`: serve the audit service."""

from shared.serve import serve

from services.audit.app import PORT, SERVICE, create_app

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
