"""`python -m services.sampler`: serve the sampler."""

from services.sampler.app import PORT, SERVICE, create_app
from shared.serve import serve

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
