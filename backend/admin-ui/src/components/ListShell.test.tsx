import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/client'
import type { Page } from '../api/types'
import type { Query } from '../hooks'
import { ListShell } from './ListShell'
import type { ListShellProps } from './ListShell'

interface Item {
  id: number
  name: string
}

function query(state: Partial<Query<Page<Item>>>): Query<Page<Item>> {
  return { data: undefined, error: null, loading: false, reload: () => {}, ...state }
}

function pageOf(items: Item[], total = items.length): Page<Item> {
  return { items, page: 1, per_page: 10, total }
}

const plainRow = (item: Item) => (
  <tr>
    <td>{item.name}</td>
  </tr>
)

const items: Item[] = [
  { id: 1, name: 'one' },
  { id: 2, name: 'two' },
]

function shell(props: Partial<ListShellProps<Item>> & { query: Query<Page<Item>> }) {
  return render(
    <ListShell<Item>
      columns={<th>Name</th>}
      rowKey={(item) => String(item.id)}
      row={(item) => (
        <tr data-item={item.name}>
          <td>{item.name}</td>
        </tr>
      )}
      empty="Nothing here yet."
      {...props}
    />,
  )
}

describe('ListShell', () => {
  it('shows the loading state until the first answer, and nothing else', () => {
    const { container } = shell({ query: query({ loading: true }) })
    expect(screen.getByRole('status')).toHaveTextContent('Loading…')
    expect(container.querySelector('table')).toBeNull()
    expect(screen.queryByText('Nothing here yet.')).toBeNull()
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('keeps the rows (no spinner) while a reload runs', () => {
    shell({ query: query({ loading: true, data: pageOf(items) }) })
    expect(screen.queryByRole('status')).toBeNull()
    expect(screen.getAllByRole('row')).toHaveLength(3)
  })

  it('shows the error as an alert', () => {
    const { container } = shell({ query: query({ error: new Error('Boom.') }) })
    expect(screen.getByRole('alert')).toHaveTextContent('Boom.')
    expect(container.querySelector('table')).toBeNull()
    expect(screen.queryByRole('status')).toBeNull()
  })

  it('shows the error it is given instead of the query error, the way it is told to', () => {
    const { rerender } = shell({ query: query({ data: pageOf(items) }), error: new Error('Action failed.') })
    expect(screen.getByRole('alert')).toHaveTextContent('Action failed.')
    const fieldError = new ApiError(400, 'validation_error', 'The request is invalid.', { since: 'Not a valid datetime.' })
    rerender(
      <ListShell<Item>
        query={query({ error: fieldError })}
        columns={<th>Name</th>}
        rowKey={(item) => String(item.id)}
        row={plainRow}
        showError={(error) => <p data-testid="custom-error">{error instanceof ApiError ? error.code : 'other'}</p>}
      />,
    )
    expect(screen.getByTestId('custom-error')).toHaveTextContent('validation_error')
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('shows the empty state for an empty page, and nothing when no empty text is given', () => {
    const { container, rerender } = shell({ query: query({ data: pageOf([]) }) })
    expect(container.querySelector('.empty')).toHaveTextContent('Nothing here yet.')
    expect(container.querySelector('table')).toBeNull()
    expect(container.querySelector('.pagination')).toBeNull()
    rerender(
      <ListShell<Item>
        query={query({ data: pageOf([]) })}
        columns={<th>Name</th>}
        rowKey={(item) => String(item.id)}
        row={plainRow}
      />,
    )
    expect(container).toBeEmptyDOMElement()
  })

  it('renders the header and one row per item in a table-wrap, with the notice after the error', () => {
    const { container } = shell({
      query: query({ data: pageOf(items) }),
      error: new Error('Oops.'),
      notice: <div data-testid="notice">Saved.</div>,
      tableClassName: 'audit-table',
    })
    const table = container.querySelector('.table-wrap > table.audit-table')
    expect(table).not.toBeNull()
    expect(within(table as HTMLElement).getByRole('columnheader', { name: 'Name' })).toBeInTheDocument()
    expect([...container.querySelectorAll('tbody tr')].map((tr) => tr.getAttribute('data-item'))).toEqual(['one', 'two'])
    const alert = screen.getByRole('alert')
    const notice = screen.getByTestId('notice')
    expect(alert.compareDocumentPosition(notice) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy()
    expect(notice.compareDocumentPosition(table as Node) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy()
  })

  it('lets one item render several rows', () => {
    const { container } = shell({
      query: query({ data: pageOf(items) }),
      row: (item) => (
        <>
          <tr>
            <td>{item.name}</td>
          </tr>
          <tr className="details-row">
            <td>details of {item.name}</td>
          </tr>
        </>
      ),
    })
    expect(container.querySelectorAll('tbody tr')).toHaveLength(4)
    expect(container.querySelectorAll('tbody tr.details-row')).toHaveLength(2)
  })

  it('counts the items of a single page and shows no controls; none at all without paging', () => {
    const { container, rerender } = shell({
      query: query({ data: pageOf(items) }),
      paging: { page: 1, perPage: 10, onPage: () => {} },
    })
    expect(container.querySelector('p.pagination')).toHaveTextContent('2 items')
    expect(screen.queryByRole('navigation', { name: 'Pagination' })).toBeNull()
    rerender(
      <ListShell<Item>
        query={query({ data: pageOf([items[0]!]) })}
        columns={<th>Name</th>}
        rowKey={(item) => String(item.id)}
        row={plainRow}
        paging={{ page: 1, perPage: 10, onPage: () => {} }}
      />,
    )
    expect(container.querySelector('p.pagination')).toHaveTextContent('1 item')
    rerender(
      <ListShell<Item>
        query={query({ data: pageOf(items, 40) })}
        columns={<th>Name</th>}
        rowKey={(item) => String(item.id)}
        row={plainRow}
      />,
    )
    expect(container.querySelector('.pagination')).toBeNull()
  })

  it('pages with Previous and Next and says which items are shown', async () => {
    const user = userEvent.setup()
    const onPage = vi.fn()
    function Paged() {
      const [page, setPage] = useState(1)
      return (
        <ListShell<Item>
          query={query({ data: { ...pageOf(items, 25), page } })}
          columns={<th>Name</th>}
          rowKey={(item) => String(item.id)}
          row={plainRow}
          paging={{
            page,
            perPage: 10,
            onPage: (p) => {
              onPage(p)
              setPage(p)
            },
          }}
        />
      )
    }
    render(<Paged />)
    const nav = screen.getByRole('navigation', { name: 'Pagination' })
    expect(nav).toHaveTextContent('1–10 of 25 · page 1 of 3')
    expect(within(nav).getByRole('button', { name: '‹ Previous' })).toBeDisabled()

    await user.click(within(nav).getByRole('button', { name: 'Next ›' }))
    expect(onPage).toHaveBeenLastCalledWith(2)
    expect(nav).toHaveTextContent('11–20 of 25 · page 2 of 3')

    await user.click(within(nav).getByRole('button', { name: 'Next ›' }))
    expect(onPage).toHaveBeenLastCalledWith(3)
    expect(nav).toHaveTextContent('21–25 of 25 · page 3 of 3')
    expect(within(nav).getByRole('button', { name: 'Next ›' })).toBeDisabled()

    await user.click(within(nav).getByRole('button', { name: '‹ Previous' }))
    expect(onPage).toHaveBeenLastCalledWith(2)
    expect(onPage).toHaveBeenCalledTimes(3)
  })
})
