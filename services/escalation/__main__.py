"""`python -m services.escalation`: serve the escalation service."""

from services.escalation.app import PORT, SERVICE, create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
