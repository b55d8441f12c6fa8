"""Many instances: the inventory file and its selection and sharding (``inventory``), the generic concurrent
runner with waves (``runner``), the plan and apply steps per instance (``steps``), the combined output
(``report``), and GDPR requests on every instance (``requests``)."""
