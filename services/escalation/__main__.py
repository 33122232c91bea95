"""`python -m services.escalation`: serve the escalation service."""

from shared.serve import serve

from services.escalation.app import PORT, SERVICE, create_app

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
