// Each class has its own database; one class at a time keeps the 2-core machines' timing honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
