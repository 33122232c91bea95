# One image for the four services, the migrations and the demo.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY tools ./tools
COPY deploy/demo ./deploy/demo
RUN pip install --no-cache-dir .
RUN useradd --system --uid 10001 modqa
USER modqa
CMD ["python", "-m", "services.sampler"]
