"""Commerce facts shown beside a customer: orders, carts, vouchers, visits."""
