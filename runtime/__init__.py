"""edgeyolo.runtime: the torch-free inference path a camera app embeds (numpy and OpenCV only)."""

from edgeyolo.runtime.contract import METADATA_KEY, Contract, ContractError

__all__ = ["METADATA_KEY", "Contract", "ContractError"]
