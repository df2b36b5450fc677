namespace Federate.Client.Internal;

/// <summary>
/// One long-lived background thread that runs a client's tasks one after another. Training is CPU-bound, so it runs
/// off the thread pool (heartbeats keep flowing); a thread of its own started for every task cost a thread's creation
/// and start-up per task, about a tenth of the CPU of a process serving 100 virtual clients with a small model.
/// The idle thread blocks without spinning (Monitor.Wait): a BlockingCollection's wait spins with sched_yield first,
/// which took a fifth of such a process's CPU.
/// </summary>
internal sealed class TaskThread : IDisposable
{
    private readonly Queue<Action> _work = new();
    private readonly object _gate = new();
    private bool _disposed;
    private Thread? _thread;

    /// <summary>Runs <paramref name="body"/> on the thread after the work queued before it; canceled if the token is before it starts.</summary>
    public Task<T> RunAsync<T>(Func<T> body, CancellationToken cancellationToken)
    {
        var item = new WorkItem<T>(body, cancellationToken);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_thread is null)
            {
                _thread = new Thread(Serve) { IsBackground = true, Name = "federate-client-task" };
                _thread.Start();
            }

            _work.Enqueue(item.Run);
            Monitor.Pulse(_gate);
        }

        return item.Task;
    }

    private void Serve()
    {
        while (true)
        {
            Action work;
            lock (_gate)
            {
                while (_work.Count == 0)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    Monitor.Wait(_gate);
                }

                work = _work.Dequeue();
            }

            work();
        }
    }

    /// <summary>Lets the thread finish the work queued and end.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>
    /// One task's work. It lets go of the body (and with it the task's message) before it reports the result: the
    /// thread may be descheduled right after, and the next task's model may be allocated meanwhile, while the last
    /// task's message should already be garbage.
    /// </summary>
    private sealed class WorkItem<T>(Func<T> body, CancellationToken cancellationToken)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Func<T>? _body = body;

        public Task<T> Task => _done.Task;

        public void Run()
        {
            var run = _body!;
            _body = null;
            if (cancellationToken.IsCancellationRequested)
            {
                _done.TrySetCanceled(cancellationToken);
                return;
            }

            T result;
            try
            {
                result = run();
            }
            catch (OperationCanceledException ex) when (ex.CancellationToken == cancellationToken || cancellationToken.IsCancellationRequested)
            {
                _done.TrySetCanceled(cancellationToken);
                return;
            }
            catch (Exception ex)
            {
                _done.TrySetException(ex);
                return;
            }

            run = null!; // unoptimised code keeps a local alive to the end of the method
            _done.TrySetResult(result);
        }
    }
}
