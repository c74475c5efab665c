// The end-to-end test starts a platform host that subscribes to the shared test broker: one test class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
