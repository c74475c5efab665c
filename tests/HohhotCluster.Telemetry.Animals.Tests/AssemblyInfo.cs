// The end-to-end class starts a platform host against the shared test servers; one class at a time keeps timing honest on 2 cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
