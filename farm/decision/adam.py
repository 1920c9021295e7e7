"""Adam as ``torch.optim.Adam`` computes it, without ``torch.optim.Optimizer``'s wrapping.

Why: ``torch.optim.Optimizer`` wraps its methods (``add_param_group``, which its constructor
calls, ``step``, ``zero_grad``, ``state_dict``) in ``torch._disable_dynamo``, whose first call
imports ``torch._dynamo``: about 65 MiB of resident memory and 1.4 s on the 2-core reference
machine, in every process that builds a learning policy, for a compiler the engine never uses.

:class:`Adam` keeps the moments and step counts itself and updates the parameters with torch's
functional ``torch.optim.adam.adam``, passing what ``torch.optim.Adam.step`` passes (no AMSGrad,
no weight decay, no capturable or fused kernels), so the parameters evolve bit for bit as under
``torch.optim.Adam``.

Checkpoints: :meth:`Adam.state_dict` has ``torch.optim.Adam.state_dict``'s layout, and
:meth:`Adam.load_state_dict` reads one, so checkpoints move between the two both ways.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.adam import adam as functional_adam

__all__ = ["Adam"]


def _step_dtype() -> torch.dtype:
    """The dtype of the step counters, as torch.optim.Adam picks it off the fused path."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class Adam:
    """Adam over a fixed list of parameters (one parameter group).

    Args:
        params: the tensors to optimise; their order is the state's index order.
        lr: step size.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        foreach: torch's multi-tensor kernels (True), one tensor at a time (False), or torch's
            default for the device (None), as for ``torch.optim.Adam``.

    Moments and step counters are created at a parameter's first step with a gradient, as
    torch.optim.Adam creates them.
    """

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        foreach: bool | None = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Adam lr must be >= 0, got {lr!r}")
        if not eps >= 0.0:
            raise ValueError(f"Adam eps must be >= 0, got {eps!r}")
        if not all(0.0 <= beta < 1.0 for beta in betas) or len(betas) != 2:
            raise ValueError(f"Adam betas must be two numbers in [0, 1), got {betas!r}")
        self.params = list(params)
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.foreach = foreach
        # Per parameter index: {"step": 0-d tensor, "exp_avg": like p, "exp_avg_sq": like p}.
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients (``set_to_none``) or zero them in place."""
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        has_complex = False
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("Adam does not support sparse gradients")
            has_complex |= torch.is_complex(p)
            state = self.state.get(index)
            if state is None:
                state = self.state[index] = {
                    "step": torch.tensor(0.0, dtype=_step_dtype()),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        beta1, beta2 = self.betas
        functional_adam(
            params, grads, exp_avgs, exp_avg_sqs, [], steps,
            foreach=self.foreach, capturable=False, differentiable=False, fused=None,
            grad_scale=None, found_inf=None, has_complex=has_complex, decoupled_weight_decay=False,
            amsgrad=False, beta1=beta1, beta2=beta2, lr=self.lr, weight_decay=0.0, eps=self.eps,
            maximize=False,
        )

    def state_dict(self) -> dict[str, Any]:
        """The state in ``torch.optim.Adam.state_dict``'s layout (tensors are the live ones)."""
        group = {
            "lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": 0.0, "amsgrad": False,
            "maximize": False, "foreach": self.foreach, "capturable": False, "differentiable": False,
            "fused": None, "decoupled_weight_decay": False, "params": list(range(len(self.params))),
        }
        return {"state": {index: dict(state) for index, state in self.state.items()}, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (or a ``torch.optim.Adam`` one over the same parameters)."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(
                f"optimizer state has {[len(g['params']) for g in groups]} parameters in its groups, "
                f"expected one group of {len(self.params)}"
            )
        group = groups[0]
        self.lr = float(group["lr"])
        self.betas = (float(group["betas"][0]), float(group["betas"][1]))
        self.eps = float(group["eps"])
        position = {saved: index for index, saved in enumerate(group["params"])}
        self.state = {}
        for saved, state in state_dict["state"].items():
            p = self.params[position[saved]]
            self.state[position[saved]] = {
                "step": state["step"].detach().clone().to(_step_dtype()),
                "exp_avg": state["exp_avg"].detach().to(dtype=p.dtype, device=p.device).clone(),
                "exp_avg_sq": state["exp_avg_sq"].detach().to(dtype=p.dtype, device=p.device).clone(),
            }
