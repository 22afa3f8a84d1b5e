"""Reference for examples/suite/hard/ledger.md."""


class InsufficientFunds(ValueError):
    """The account holds less than the amount asked for."""


class Ledger:
    def __init__(self) -> None:
        self._balances: dict[str, int] = {}
        self._history: dict[str, list[tuple[str, int]]] = {}

    @staticmethod
    def _check(amount: int) -> None:
        if amount <= 0:
            raise ValueError(f"the amount must be positive, not {amount}")

    def _record(self, account: str, kind: str, amount: int) -> None:
        self._history.setdefault(account, []).append((kind, amount))

    def deposit(self, account: str, amount: int) -> int:
        self._check(amount)
        self._balances[account] = self.balance(account) + amount
        self._record(account, "deposit", amount)
        return self._balances[account]

    def withdraw(self, account: str, amount: int) -> int:
        self._check(amount)
        if amount > self.balance(account):
            raise InsufficientFunds(f"{account} holds less than {amount}")
        self._balances[account] = self.balance(account) - amount
        self._record(account, "withdraw", amount)
        return self._balances[account]

    def transfer(self, source: str, target: str, amount: int) -> None:
        self._check(amount)
        if source == target:
            raise ValueError("a transfer needs two different accounts")
        if amount > self.balance(source):
            raise InsufficientFunds(f"{source} holds less than {amount}")
        self._balances[source] = self.balance(source) - amount
        self._balances[target] = self.balance(target) + amount
        self._record(source, "transfer-out", amount)
        self._record(target, "transfer-in", amount)

    def balance(self, account: str) -> int:
        return self._balances.get(account, 0)

    def history(self, account: str) -> list[tuple[str, int]]:
        return list(self._history.get(account, []))
