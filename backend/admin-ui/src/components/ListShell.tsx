// The shell every list page shares: error, loading, empty state, the table and its pagination,
// all driven by one query for a page of items. Pages give the header cells, one item's row(s)
// and what to say when there is nothing; the pagination controls live only here.

import { Fragment } from 'react'
import type { ReactNode } from 'react'
import type { Page } from '../api/types'
import type { Query } from '../hooks'
import { Empty, ErrorMessage, Loading } from './ui'

interface PaginationProps {
  page: number
  perPage: number
  total: number
  onPage: (page: number) => void
}

/** "N items" for a single page; Previous/Next with the range shown otherwise; nothing for none. */
export function Pagination({ page, perPage, total, onPage }: PaginationProps) {
  const pages = Math.max(1, Math.ceil(total / perPage))
  if (total === 0) return null
  const first = (page - 1) * perPage + 1
  const last = Math.min(total, page * perPage)
  if (pages === 1 && page === 1) {
    return (
      <p className="pagination muted">
        {total} {total === 1 ? 'item' : 'items'}
      </p>
    )
  }
  return (
    <nav className="pagination" aria-label="Pagination">
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>
        ‹ Previous
      </button>
      <span>
        {first}–{last} of {total} · page {page} of {pages}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages}>
        Next ›
      </button>
    </nav>
  )
}

/** Which page is shown, how many items a page holds, and how to go to another page. */
export interface ListPaging {
  page: number
  perPage: number
  onPage: (page: number) => void
}

export interface ListShellProps<T> {
  /** The query for the page of items shown. */
  query: Query<Page<T>>
  /** The header row's cells (<th>…</th>). */
  columns: ReactNode
  /** One item's table row(s); keyed by `rowKey`. */
  row: (item: T) => ReactNode
  rowKey: (item: T) => string
  /** What to say when the page has no item; without it an empty list shows nothing. */
  empty?: ReactNode
  /** Pagination under the table; without it (a fixed-size list) there are no controls. */
  paging?: ListPaging
  /** The error to show: the query's by default (pass e.g. `query.error ?? actionError`). */
  error?: unknown
  /** How to show the error: an alert (ErrorMessage) by default. */
  showError?: (error: unknown) => ReactNode
  /** Shown right after the error, before the list (e.g. a success notice). */
  notice?: ReactNode
  tableClassName?: string
}

export function ListShell<T>({
  query,
  columns,
  row,
  rowKey,
  empty,
  paging,
  error = query.error,
  showError = (exc) => <ErrorMessage error={exc} />,
  notice,
  tableClassName,
}: ListShellProps<T>) {
  const data = query.data
  return (
    <>
      {showError(error)}
      {notice}
      {query.loading && !data && <Loading />}
      {data && data.items.length === 0 && empty !== undefined && <Empty>{empty}</Empty>}
      {data && data.items.length > 0 && (
        <>
          <div className="table-wrap">
            <table className={tableClassName}>
              <thead>
                <tr>{columns}</tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <Fragment key={rowKey(item)}>{row(item)}</Fragment>
                ))}
              </tbody>
            </table>
          </div>
          {paging && (
            <Pagination page={paging.page} perPage={paging.perPage} total={data.total} onPage={paging.onPage} />
          )}
        </>
      )}
    </>
  )
}
