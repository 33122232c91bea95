"""The escalation service's HTTP routes: cases, rules and webhooks under /v1."""

from fastapi import APIRouter

from services.escalation.api import cases, rules, webhooks

router = APIRouter(prefix="/v1")
router.include_router(cases.router)
router.include_router(rules.router)
router.include_router(webhooks.router)
