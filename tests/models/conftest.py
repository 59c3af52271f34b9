import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Small nets run far faster on one thread when helpers share two cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
