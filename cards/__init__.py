"""The cards: functions of domain state, built with webexpythonsdk's Adaptive Card 1.3 models.
`CardPresenter` is what the domain talks to (`bot.domain.ports.Presenter`)."""

from cards.presenter import CardPresenter

__all__ = ["CardPresenter"]
