"""`python -m services.sampler`: serve the sampler."""

from shared.serve import serve

from services.sampler.app import PORT, SERVICE, create_app

if __name__ == "__main__":
    serve(SERVICE, PORT, create_app)
