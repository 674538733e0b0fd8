from __future__ import annotations

from django.conf import settings
from django.db import models

from playground import crypto
from playground.llm.client import ProviderConfig, ProviderKind
from playground.llm.normalize import ThinkingFormat

from . import hosts

M1_MODELS = ["MiniMax-M1-40k", "MiniMax-M1-80k"]


class ProviderQuerySet(models.QuerySet):
    def enabled(self) -> ProviderQuerySet:
        return self.filter(enabled=True)


class Provider(models.Model):
    """An OpenAI-compatible endpoint, managed by the instance admin."""

    class Kind(models.TextChoices):
        SIMULATOR = ProviderKind.SIMULATOR.value, "Simulator (built in, offline)"
        MINIMAX = ProviderKind.MINIMAX.value, "MiniMax API"
        OPENROUTER = ProviderKind.OPENROUTER.value, "OpenRouter"
        VLLM = ProviderKind.VLLM.value, "vLLM / SGLang"
        OPENAI_COMPATIBLE = ProviderKind.OPENAI_COMPATIBLE.value, "Any OpenAI-compatible"

    class ThinkingFormatChoice(models.TextChoices):
        AUTO = ThinkingFormat.AUTO.value, "Detect (reasoning_content, reasoning or <think> tags)"
        REASONING_CONTENT = ThinkingFormat.REASONING_CONTENT.value, "delta.reasoning_content"
        REASONING = ThinkingFormat.REASONING.value, "delta.reasoning"
        THINK_TAGS = ThinkingFormat.THINK_TAGS.value, "<think> tags inside delta.content"

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    base_url = models.URLField(max_length=300, blank=True)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    api_key_hint = models.CharField(max_length=12, blank=True, editable=False)
    model_ids = models.JSONField(default=list)
    thinking_format = models.CharField(
        max_length=20, choices=ThinkingFormatChoice.choices, default=ThinkingFormat.AUTO
    )
    supports_prefill = models.BooleanField(default=False)
    simulator_tokens_per_second = models.FloatField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    # Marked by the instance admin: its answers cost nothing and no budget limits them. A
    # model without a price is otherwise refused while a budget applies (billing.actions).
    is_free = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_simulator(self) -> bool:
        return self.kind == ProviderKind.SIMULATOR

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def set_api_key(self, plaintext: str) -> None:
        self.api_key_encrypted = crypto.encrypt(plaintext)
        self.api_key_hint = crypto.mask(plaintext)

    def config(self) -> ProviderConfig:
        """The provider as the llm layer sees it, with the key decrypted (never stored)."""
        return ProviderConfig(
            kind=ProviderKind(self.kind),
            base_url=self.base_url,
            api_key=crypto.decrypt(self.api_key_encrypted),
            thinking_format=ThinkingFormat(self.thinking_format),
            supports_prefill=self.supports_prefill,
            simulator_tokens_per_second=self.simulator_tokens_per_second,
            max_retries=settings.PLAYGROUND["PROVIDER_MAX_RETRIES"],
            # Checked again where each request connects (DNS may have changed since).
            allow_private_hosts=hosts.allow_private_hosts(),
            allowed_hosts=hosts.allowed_hosts(),
        )


def kind_of(provider: Provider | None) -> ProviderKind:
    """A provider's kind; a removed provider (a null foreign key) counts as the simulator, the
    shape of request the app falls back to."""
    return ProviderKind(provider.kind) if provider is not None else ProviderKind.SIMULATOR


def default_provider() -> Provider | None:
    return Provider.objects.enabled().order_by("-is_default", "pk").first()
