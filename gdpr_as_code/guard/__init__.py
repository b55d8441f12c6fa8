"""What makes an apply safe: saved plans and their freshness check (``planfile``), the apply lock
(``lock``), receipts as evidence (``receipts``), and the one guarded apply that uses them all (``apply``)."""
