package fqcodel

import "sync"

// Locked is a Queue behind a mutex, for a producer and a consumer on
// different goroutines. The onDrop callback runs with the lock held.
type Locked[T any] struct {
	mu sync.Mutex
	q  *Queue[T]
}

// NewLocked wraps q, which the caller must no longer use directly.
func NewLocked[T any](q *Queue[T]) *Locked[T] { return &Locked[T]{q: q} }

// Enqueue is Queue.Enqueue under the lock.
func (l *Locked[T]) Enqueue(item T) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.Enqueue(item)
}

// EnqueueBatch is Queue.EnqueueBatch under the lock.
func (l *Locked[T]) EnqueueBatch(items []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.EnqueueBatch(items)
}

// Dequeue is Queue.Dequeue under the lock.
func (l *Locked[T]) Dequeue() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.Dequeue()
}

// DequeueBatch is Queue.DequeueBatch under the lock.
func (l *Locked[T]) DequeueBatch(dst []T) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.DequeueBatch(dst)
}

// Len is Queue.Len under the lock.
func (l *Locked[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.Len()
}

// Stats is Queue.Stats under the lock.
func (l *Locked[T]) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.Stats()
}

// Flush is Queue.Flush under the lock.
func (l *Locked[T]) Flush(fn func(T)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.Flush(fn)
}
