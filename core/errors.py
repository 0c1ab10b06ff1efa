"""The base error class of the apps' services."""


class ServiceError(Exception):
    """A request a service refuses, changing nothing; str() is a message for people.

    Each app's errors extend it (OrderError, PaymentError, DistributorError,
    WithdrawalError, ...), so a view or an admin page can catch them all and
    show the message. `field` names the form field the message belongs to
    (None: the whole form); a subclass sets it for its reason, and a form puts
    the message there with `add_to(form)`.
    """

    field: str | None = None

    def add_to(self, form) -> None:
        """Show this refusal on `form`: on its field if the form has it, else above it."""
        form.add_error(self.field if self.field in form.fields else None, str(self))
